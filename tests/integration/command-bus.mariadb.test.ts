import { commandBusSuite } from './command-bus.suite.js';

commandBusSuite('mariadb');
