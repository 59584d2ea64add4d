import { type Route, useApp, useLoad } from '../app.tsx';
import { Loading, Page, TableWrap } from '../ui.tsx';

/** The parts of a JSON Schema (as zod's `toJSONSchema` writes them) the reference shows. */
interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  description?: string;
  default?: unknown;
  anyOf?: Schema[];
}

interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  security?: unknown[];
  'x-shop-auth'?: string;
  parameters?: { name: string; in: string; required?: boolean; description?: string; schema?: Schema }[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}

interface OpenApi {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** A schema in one line: `string (uuid)`, `"eu" | "us"`, `Item[]`, `Error` for a `$ref`. */
export function typeOf(schema: Schema | undefined): string {
  if (!schema) return '';
  if (schema.$ref) return schema.$ref.split('/').at(-1) ?? schema.$ref;
  if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' | ');
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : (schema.type ?? 'any');
  if (type === 'array') return `${typeOf(schema.items)}[]`;
  return schema.format ? `${type} (${schema.format})` : type;
}

const operations = (doc: OpenApi) =>
  Object.entries(doc.paths ?? {}).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => METHODS.includes(m))
      .map(([method, op]) => ({ method, path, op, id: op.operationId ?? `${method}-${path}` })),
  );

const auth = (op: Operation) => op['x-shop-auth'] ?? (op.security?.length ? 'user' : 'public');

/** The API's OpenAPI 3.1 document (`GET /openapi.json`, generated from the route manifest). */
export function ApiReference({ route }: { route: Route }) {
  const { api } = useApp();
  const doc = useLoad(async () => {
    try {
      return (await api.get<OpenApi>('/openapi.json')).body;
    } catch {
      return undefined;
    }
  }, []);
  const selected = route.path[1];
  const found = doc.data && selected ? operations(doc.data).find((o) => o.id === selected) : undefined;
  return (
    <Page title={found ? `${found.method.toUpperCase()} ${found.path}` : 'API reference'}>
      {doc.loading && <Loading />}
      {!doc.loading && !doc.data?.paths && (
        <div class="notice" data-testid="openapi-unavailable">
          <p>
            <code>{api.baseUrl}/openapi.json</code> did not answer with an OpenAPI document. The same document
            is in the repository as <code>docs/openapi.json</code>.
          </p>
        </div>
      )}
      {doc.data?.paths && selected && !found && (
        <p class="notice">No operation {selected} in the document.</p>
      )}
      {found && <OperationView op={found.op} />}
      {doc.data?.paths && !selected && (
        <>
          <p>
            {doc.data.info?.title} {doc.data.info?.version} · paths are relative to <code>{api.baseUrl}</code>
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
              {operations(doc.data).map(({ method, path, op, id }) => (
                <tr key={id}>
                  <td>
                    <code>{method.toUpperCase()}</code>
                  </td>
                  <td>
                    <a href={`#/api/${encodeURIComponent(id)}`}>
                      <code>{path}</code>
                    </a>
                  </td>
                  <td>{auth(op)}</td>
                  <td>{op.summary ?? op.description ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        </>
      )}
    </Page>
  );
}

/** One operation: what it asks for (parameters, body) and what it answers, each status with its schema. */
function OperationView({ op }: { op: Operation }) {
  const body = Object.entries(op.requestBody?.content ?? {})[0];
  return (
    <>
      <p>
        <a href="#/api">← All routes</a>
      </p>
      <p>{op.summary ?? op.description}</p>
      <p>
        Authorization: <strong data-testid="operation-auth">{auth(op)}</strong>
      </p>
      {!!op.parameters?.length && (
        <TableWrap label="Parameters">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">In</th>
              <th scope="col">Type</th>
              <th scope="col">Required</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {op.parameters.map((p) => (
              <tr key={`${p.in} ${p.name}`}>
                <td>
                  <code>{p.name}</code>
                </td>
                <td>{p.in}</td>
                <td>
                  <code>{typeOf(p.schema)}</code>
                </td>
                <td>{p.required ? 'yes' : 'no'}</td>
                <td>{p.description ?? p.schema?.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      {body && <Fields label={`Request body (${body[0]})`} schema={body[1].schema} />}
      <TableWrap label="Responses">
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Description</th>
            <th scope="col">Body</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(op.responses ?? {}).map(([status, r]) => (
            <tr key={status}>
              <td>
                <code>{status}</code>
              </td>
              <td>{r.description ?? ''}</td>
              <td>
                <code>{typeOf(Object.values(r.content ?? {})[0]?.schema)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </TableWrap>
    </>
  );
}

/** An object schema's fields, one level deep (the full schema is in docs/openapi.json). */
function Fields({ label, schema }: { label: string; schema: Schema | undefined }) {
  const properties = Object.entries(schema?.properties ?? {});
  if (!properties.length)
    return (
      <p>
        {label}: <code>{typeOf(schema)}</code>
      </p>
    );
  return (
    <TableWrap label={label}>
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Type</th>
          <th scope="col">Required</th>
          <th scope="col">Default</th>
        </tr>
      </thead>
      <tbody>
        {properties.map(([name, s]) => (
          <tr key={name}>
            <td>
              <code>{name}</code>
            </td>
            <td>
              <code>{typeOf(s)}</code>
            </td>
            <td>{schema?.required?.includes(name) ? 'yes' : 'no'}</td>
            <td>{s.default === undefined ? '' : <code>{JSON.stringify(s.default)}</code>}</td>
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}
