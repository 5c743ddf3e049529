/** SIGKILL during refreshes, SQLite: see test/helpers/sigkill.ts. */
import { sigkillDuringRefreshes } from '../helpers/sigkill.js';

sigkillDuringRefreshes('sqlite');
