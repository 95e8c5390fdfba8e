import { firewallSuite } from './firewall.suite.js';

firewallSuite('mariadb');
