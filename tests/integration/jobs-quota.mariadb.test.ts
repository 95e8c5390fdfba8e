import { quotaJobSuite } from './jobs-quota.suite.js';

quotaJobSuite('mariadb');
