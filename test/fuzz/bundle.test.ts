import { fuzzTest } from './fuzz-test.ts';
import { bundleTarget } from './targets/bundle.ts';

fuzzTest(bundleTarget);
