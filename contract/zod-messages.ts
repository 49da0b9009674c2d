/**
 * zod/mini ships without message texts; the English ones make a bad manifest or baseline say what is
 * wrong ("Too small: expected array to have >=1 items") rather than "Invalid input".
 */

import { en } from 'zod/locales';
import { config } from 'zod/mini';

config(en());
