# Deploys puppetdb-sync beside a PuppetDB server, from the Debian package, with its
# configuration taken from PuppetDB's own conf.d (docs/configuration.md) and the
# remotes given here. Checked by `puppet parser validate` (test/unit/puppet-manifest.test.ts).
#
#   class { 'puppetdb_sync':
#     remotes => ['https://puppetdb2.example.net:8081'],
#   }
class puppetdb_sync (
  Array[String[1], 1] $remotes,
  String[1] $interval = '5s',
  String[1] $puppetdb_conf_dir = '/etc/puppetlabs/puppetdb/conf.d',
  String[1] $package_source = '/var/cache/puppetdb-sync/puppetdb-sync_0.1.0-1_amd64.deb',
  Integer[0, 65535] $http_port = 8095,
) {
  $remote_list = $remotes.map |$url| { "{ server_url: \"${url}\", interval: ${interval} }" }.join(', ')

  package { 'puppetdb-sync':
    ensure   => installed,
    provider => 'dpkg',
    source   => $package_source,
  }

  file { '/etc/puppetdb-sync/puppetdb-sync.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'puppetdb',
    mode    => '0640',
    content => @("CONF"),
      # Managed by Puppet (puppetdb_sync).
      puppetdb: { conf-dir: "${puppetdb_conf_dir}" }
      sync: { remotes: [ ${remote_list} ] }
      http: { port: ${http_port} }
      | CONF
    require => Package['puppetdb-sync'],
  }

  # A changed configuration is reloaded (SIGHUP), not restarted: passes in flight go on.
  service { 'puppetdb-sync':
    ensure    => running,
    enable    => true,
    restart   => '/bin/systemctl reload puppetdb-sync',
    subscribe => File['/etc/puppetdb-sync/puppetdb-sync.conf'],
  }
}

# The Puppet Server side: every command to every PuppetDB, a run failing only when none
# took it; the sidecars repair what one server missed (docs/puppet.md).
class puppetdb_sync::puppet_server (
  Array[String[1], 2] $server_urls,
  Integer[1] $min_successful_submissions = 1,
) {
  file { '/etc/puppetlabs/puppet/puppetdb.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => @("CONF"),
      [main]
      server_urls = ${server_urls.join(',')}
      command_broadcast = true
      min_successful_submissions = ${min_successful_submissions}
      sticky_read_failover = true
      | CONF
  }
}
