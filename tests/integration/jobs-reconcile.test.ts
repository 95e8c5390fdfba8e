import { reconcileSuite } from './jobs-reconcile.suite.js';

reconcileSuite('sqlite');
