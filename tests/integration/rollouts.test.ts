import { rolloutsSuite } from './rollouts.suite.js';

rolloutsSuite('sqlite');
