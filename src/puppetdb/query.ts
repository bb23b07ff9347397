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
