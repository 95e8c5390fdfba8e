import { rolloutsSuite } from './rollouts.suite.js';

rolloutsSuite('mariadb');
