/**
 * zod/mini ships without messages ("Invalid input" for everything). The protocol's error replies and the publish
 * function's validation errors are read by people, so the English messages are loaded here, once, by every
 * module that defines a schema.
 */
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config(en());
