import { useApp, useLoad } from '../app.tsx';
import { Loading, Page, TableWrap } from '../ui.tsx';

interface OpenApi {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<
    string,
    Record<string, { summary?: string; description?: string; security?: unknown[]; 'x-shop-auth'?: string }>
  >;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** The API's OpenAPI 3.1 document (`GET /openapi.json`, generated from the route manifest). */
export function ApiReference() {
  const { api } = useApp();
  const doc = useLoad(async () => {
    try {
      return (await api.get<OpenApi>('/openapi.json')).body;
    } catch {
      return undefined;
    }
  }, []);
  return (
    <Page title="API reference">
      {doc.loading && <Loading />}
      {!doc.loading && !doc.data?.paths && (
        <div class="notice" data-testid="openapi-unavailable">
          <p>
            <code>{api.baseUrl}/openapi.json</code> did not answer with an OpenAPI document. The same document
            is in the repository as <code>docs/openapi.json</code>.
          </p>
        </div>
      )}
      {doc.data?.paths && (
        <>
          <p>
            {doc.data.info?.title} {doc.data.info?.version}
          </p>
          <TableWrap label="Routes">
            <thead>
              <tr>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
                <th scope="col">Auth</th>
                <th scope="col">Summary</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(doc.data.paths).flatMap(([path, ops]) =>
                Object.entries(ops)
                  .filter(([m]) => METHODS.includes(m))
                  .map(([method, op]) => (
                    <tr key={`${method} ${path}`}>
                      <td>
                        <code>{method.toUpperCase()}</code>
                      </td>
                      <td>
                        <code>{path}</code>
                      </td>
                      <td>{op['x-shop-auth'] ?? (op.security?.length ? 'user' : 'public')}</td>
                      <td>{op.summary ?? op.description ?? ''}</td>
                    </tr>
                  )),
              )}
            </tbody>
          </TableWrap>
        </>
      )}
    </Page>
  );
}
