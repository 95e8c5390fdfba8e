import { trafficJobSuite } from './jobs-traffic.suite.js';

trafficJobSuite('mariadb');
