import { useApp, useLoad } from '../app.tsx';
import { Loading, Page, TableWrap } from '../ui.tsx';

interface OpenApi {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, { summary?: string; description?: string; security?: unknown[] }>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** The OpenAPI document, when the API serves `/openapi.json`. */
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
        <div class="notice" data-testid="openapi-placeholder">
          <p>
            The API does not serve <code>/openapi.json</code> yet. Once its route manifest exists, this page
            renders it: every route with its method, summary and authorization.
          </p>
          <p>
            Until then the README's API section lists every route, and <code>{api.baseUrl}/health</code>{' '}
            answers without a token.
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
