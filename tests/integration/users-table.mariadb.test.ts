import { usersTableSuite } from './users-table.suite.js';

usersTableSuite('mariadb');
