import { requestLimitsSuite } from './request-limits.suite.js';

requestLimitsSuite('mariadb');
