# @summary Runs puppetdb-sync beside the PuppetDB of this node.
#
# Installs the Debian package, writes /etc/puppetdb-sync/puppetdb-sync.conf and keeps
# the service running. The configuration takes what PuppetDB already knows from its
# conf.d (the local URL, the certificates, the database for the sync state) and the
# remotes from `remotes`. A changed configuration is reloaded (SIGHUP), never
# restarted: passes in flight go on.
#
# @example Two PuppetDBs, each with the other as its remote
#   class { 'puppetdb_sync':
#     remotes => ['https://puppetdb2.example.net:8081'],
#   }
#
# @param remotes
#   The other PuppetDB servers, as this node reaches them.
# @param interval
#   How often each remote is pulled from (a duration: 5s, 1m).
# @param puppetdb_conf_dir
#   PuppetDB's conf.d: /etc/puppetlabs/puppetdb/conf.d for Puppet's packages,
#   /etc/puppetdb/conf.d for Debian's.
# @param package_source
#   A .deb on this node, installed with dpkg; undef installs `puppetdb-sync` from the
#   node's apt repositories.
# @param package_ensure
#   `installed`, or a version of the package.
# @param http_port
#   The port of the sidecar's API (/health, /status, /metrics) on 127.0.0.1.
class puppetdb_sync (
  Array[Pattern[/\Ahttps?:\/\/[^"\s]+\z/], 1] $remotes,
  Pattern[/\A\d+(ms|s|m|h)\z/] $interval = '5s',
  Puppetdb_sync::Path $puppetdb_conf_dir = '/etc/puppetlabs/puppetdb/conf.d',
  Optional[Puppetdb_sync::Path] $package_source = undef,
  String[1] $package_ensure = 'installed',
  Integer[1, 65535] $http_port = 8095,
) {
  $package_provider = $package_source ? { undef => 'apt', default => 'dpkg' }
  package { 'puppetdb-sync':
    ensure   => $package_ensure,
    provider => $package_provider,
    source   => $package_source,
  }

  # Readable by the service's user (puppetdb) and root only: a state block may name
  # a password file beside it.
  file { '/etc/puppetdb-sync/puppetdb-sync.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'puppetdb',
    mode    => '0640',
    content => epp('puppetdb_sync/puppetdb-sync.conf.epp', {
      'remotes'           => $remotes,
      'interval'          => $interval,
      'puppetdb_conf_dir' => $puppetdb_conf_dir,
      'http_port'         => $http_port,
    }),
    require => Package['puppetdb-sync'],
  }

  service { 'puppetdb-sync':
    ensure    => running,
    enable    => true,
    restart   => '/bin/systemctl reload puppetdb-sync',
    subscribe => File['/etc/puppetdb-sync/puppetdb-sync.conf'],
  }
}
