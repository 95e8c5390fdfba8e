import { hubApiSuite } from './hub-api.suite.js';

hubApiSuite('mariadb');
