import { firewallApiSuite } from './firewall.suite.js';

firewallApiSuite('mariadb');
