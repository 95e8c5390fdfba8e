import { importMarzbanSuite } from './import-marzban.suite.js';

importMarzbanSuite('sqlite');
