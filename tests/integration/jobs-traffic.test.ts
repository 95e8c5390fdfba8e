import { trafficJobSuite } from './jobs-traffic.suite.js';

trafficJobSuite('sqlite');
