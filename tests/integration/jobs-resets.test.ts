import { resetsJobSuite } from './jobs-resets.suite.js';

resetsJobSuite('sqlite');
