/** SIGKILL during refreshes, Redis: see test/helpers/sigkill.ts. */
import { sigkillDuringRefreshes } from '../helpers/sigkill.js';

sigkillDuringRefreshes('redis');
