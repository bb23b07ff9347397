/** AST builders for /pdb/query/v4. */

export type Ast = readonly unknown[];

/**
 * Every query hides deactivated and expired nodes unless it names node_state;
 * a sync must see them, because their data and status must reach every server.
 */
export function withAnyNodeState(filter?: Ast): Ast {
  const anyState = ['=', 'node_state', 'any'];
  return filter ? ['and', anyState, filter] : anyState;
}

export function from(entity: string, query: Ast): Ast {
  return ['from', entity, query];
}

export function extract(fields: readonly string[], filter: Ast): Ast {
  return ['extract', fields, filter];
}

export function certnameIs(certname: string): Ast {
  return ['=', 'certname', certname];
}

/**
 * Deactivated or expired nodes. Spelled out with null? because PuppetDB 7.12 answers
 * ["=", "node_state", "inactive"] with no rows at all (seen).
 */
export function inactiveNodes(fields: readonly string[], which: 'deactivated' | 'deactivated or expired'): Ast {
  const filter = which === 'deactivated' ? ['null?', 'deactivated', false] : ['or', ['null?', 'deactivated', false], ['null?', 'expired', false]];
  return from('nodes', extract(fields, withAnyNodeState(filter)));
}

/** Query options sorting by `fields` ascending, the first first: the engine merges summaries by key (src/sync/diff.ts). */
export function ascendingBy(...fields: readonly string[]): Readonly<Record<string, unknown>> {
  return { order_by: fields.map((field) => ({ field, order: 'asc' })) };
}

/** Rows whose `field` is one of `values`: one query for a batch of keys. */
export function fieldIn(field: string, values: readonly string[]): Ast {
  return ['in', field, ['array', values]];
}

/** Rows of the nodes that `nodesFilter` selects, as one subquery on the server: no list of certnames travels. */
export function certnameOfNodes(nodesFilter: Ast): Ast {
  return ['in', 'certname', ['extract', 'certname', ['select_nodes', nodesFilter]]];
}

export function atOrAfter(field: string, isoTime: string): Ast {
  return ['>=', field, isoTime];
}

/** The newest value of a timestamp `field` among the rows `filter` selects, as one row `{ max }`. */
export function newest(entity: string, field: string, filter: Ast): Ast {
  return from(entity, ['extract', [['function', 'max', field]], filter]);
}
