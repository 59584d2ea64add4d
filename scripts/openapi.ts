/**
 * Writes `docs/openapi.json` from the route manifest (`shared/api/routes.ts`). A unit test
 * (`test/unit/openapi.test.ts`) fails while the committed file and the manifest disagree.
 *
 *   npm run openapi
 */
import { writeFileSync } from 'node:fs';
import { openApiDocument } from '../shared/api/openapi.ts';

export const OPENAPI_FILE = new URL('../docs/openapi.json', import.meta.url);

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, `${JSON.stringify(openApiDocument(), null, 2)}\n`);
  console.log(`wrote ${OPENAPI_FILE.pathname}`);
}
