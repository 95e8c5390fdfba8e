import { installTokensSuite } from './install-tokens.suite.js';

installTokensSuite('sqlite');
