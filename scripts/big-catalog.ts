// A catalog as large as the caller asks (20,000 File resources make 20 MB), for the
// integration test of large records and the benchmark's memory figure.

/** A replace_catalog v9 payload of `files` File resources, each with its own content, and their edges. */
export function bigCatalog(certname: string, files: number): Record<string, unknown> & { certname: string; producer_timestamp: string } {
  const manifest = '/etc/puppetlabs/code/environments/production/modules/app/manifests/config.pp';
  const resources: unknown[] = [
    { type: 'Stage', title: 'main', exported: false, tags: ['stage', 'main'], parameters: { name: 'main' } },
    { type: 'Class', title: 'App::Config', exported: false, tags: ['class', 'app::config', 'app', 'config'], parameters: {} },
    { type: 'Service', title: 'app', exported: false, tags: ['service', 'app', 'class'], file: manifest, line: 2, parameters: { ensure: 'running', enable: true } },
  ];
  const edges: unknown[] = [{ source: { type: 'Stage', title: 'main' }, target: { type: 'Class', title: 'App::Config' }, relationship: 'contains' }];
  for (let i = 0; i < files; i++) {
    const title = `/etc/app/conf.d/site-${i}/settings.conf`;
    const content = Array.from({ length: 8 }, (_, k) => `option_${k} = value-${i}-${k} # tuned for shard ${i % 97}`).join('\n');
    resources.push({
      type: 'File',
      title,
      exported: false,
      tags: ['file', 'class', 'app::config', 'app', 'config', `site_${i % 50}`],
      file: manifest,
      line: 10 + (i % 400),
      parameters: { ensure: 'file', path: title, owner: 'app', group: 'app', mode: '0640', backup: false, content, notify: 'Service[app]' },
    });
    edges.push({ source: { type: 'Class', title: 'App::Config' }, target: { type: 'File', title }, relationship: 'contains' });
    edges.push({ source: { type: 'File', title }, target: { type: 'Service', title: 'app' }, relationship: 'notifies' });
  }
  return { ...catalogMetadata(certname), resources, edges };
}

export function catalogMetadata(certname: string) {
  return {
    certname,
    version: '1732240000',
    environment: 'production',
    transaction_uuid: crypto.randomUUID(),
    catalog_uuid: crypto.randomUUID(),
    producer_timestamp: new Date().toISOString(),
    producer: 'puppet01.example.net',
    code_id: 'abc123',
    job_id: null,
  };
}
