import { subFreshnessSuite } from './sub-freshness.suite.js';

subFreshnessSuite('sqlite');
