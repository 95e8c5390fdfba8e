import { inboundCheckSuite } from './inbound-check.suite.js';

inboundCheckSuite('mariadb');
