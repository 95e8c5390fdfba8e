import { tracingSuite } from './tracing.suite.js';

tracingSuite('mariadb');
