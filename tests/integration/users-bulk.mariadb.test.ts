import { usersBulkSuite } from './users-bulk.suite.js';

usersBulkSuite('mariadb');
