/**
 * API Gateway REST route matching: a tree of resources (path parts, `{param}` and greedy
 * `{proxy+}`) with methods on them. Literal parts win over `{param}`, which wins over `{proxy+}`,
 * as in API Gateway.
 */
export interface RouteMethod<T> {
  httpMethod: string; // GET, POST, … or ANY
  target: T;
}

interface Node<T> {
  pathPart: string;
  children: Map<string, Node<T>>;
  methods: Map<string, RouteMethod<T>>;
  resourcePath: string;
}

export type RouteMatch<T> =
  | {
      kind: 'found';
      method: RouteMethod<T>;
      resourcePath: string;
      pathParameters: Record<string, string> | null;
    }
  | { kind: 'no-route' }
  | { kind: 'no-method'; allowed: string[] };

export class RouteTable<T> {
  private readonly root: Node<T> = {
    pathPart: '',
    children: new Map(),
    methods: new Map(),
    resourcePath: '/',
  };

  /** Adds a method on a resource path such as `/products/{productId}` or `/{proxy+}`. */
  add(resourcePath: string, httpMethod: string, target: T): void {
    let node = this.root;
    for (const part of split(resourcePath)) {
      let child = node.children.get(part);
      if (!child) {
        child = {
          pathPart: part,
          children: new Map(),
          methods: new Map(),
          resourcePath: `${node.resourcePath === '/' ? '' : node.resourcePath}/${part}`,
        };
        node.children.set(part, child);
      }
      node = child;
    }
    node.methods.set(httpMethod.toUpperCase(), { httpMethod: httpMethod.toUpperCase(), target });
  }

  /** Every `METHOD /resource/path`, sorted. */
  list(): string[] {
    const out: string[] = [];
    const walk = (node: Node<T>) => {
      for (const m of node.methods.keys()) out.push(`${m} ${node.resourcePath}`);
      for (const child of node.children.values()) walk(child);
    };
    walk(this.root);
    return out.sort();
  }

  /**
   * Finds the method for a request path. Literal parts are compared URL-decoded; path parameters keep the
   * text as the client sent it (API Gateway REST APIs do not decode them: `/users/a%40b` gives `a%40b`).
   */
  match(httpMethod: string, path: string): RouteMatch<T> {
    const segments = split(path);
    const found = this.find(this.root, segments, 0, {});
    if (!found) return { kind: 'no-route' };
    const { node, params } = found;
    const method = node.methods.get(httpMethod.toUpperCase()) ?? node.methods.get('ANY');
    if (!method) return { kind: 'no-method', allowed: [...node.methods.keys()] };
    return {
      kind: 'found',
      method,
      resourcePath: node.resourcePath,
      pathParameters: Object.keys(params).length ? params : null,
    };
  }

  private find(
    node: Node<T>,
    segments: string[],
    index: number,
    params: Record<string, string>,
  ): { node: Node<T>; params: Record<string, string> } | undefined {
    // A resource without methods (e.g. `/orders` above `/orders/{orderId}`) is no route of its own.
    if (index === segments.length) return node.methods.size > 0 ? { node, params } : undefined;
    const segment = segments[index] as string;
    const literal = node.children.get(safeDecode(segment));
    if (literal) {
      const hit = this.find(literal, segments, index + 1, params);
      if (hit) return hit;
    }
    for (const child of node.children.values()) {
      const name = /^\{(.+?)\}$/.exec(child.pathPart)?.[1];
      if (!name || name.endsWith('+')) continue;
      const hit = this.find(child, segments, index + 1, { ...params, [name]: segment });
      if (hit) return hit;
    }
    for (const child of node.children.values()) {
      const name = /^\{(.+)\+\}$/.exec(child.pathPart)?.[1];
      if (name && child.methods.size) {
        return { node: child, params: { ...params, [name]: segments.slice(index).join('/') } };
      }
    }
    return undefined;
  }
}

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
