import { nodeTableSuite } from './node-table.suite.js';

nodeTableSuite('sqlite');
