# @summary Runs `puppetdb-sync spool` on a Puppet Server: every command its runs send is journaled until each PuppetDB holds it.
#
# Installs the Debian package (unless `puppetdb_sync` already does on this host),
# writes /etc/puppetdb-sync/spool.conf with Puppet's own certificate to serve the
# terminus over https and to reach the PuppetDB servers, allows this host's certname
# to submit, and keeps `puppetdb-sync-spool` running. Name it in
# `puppetdb_sync::puppet_server`'s `submit_only_server_urls` as
# https://CERTNAME:PORT (docs/puppet.md of puppetdb-sync). A changed configuration
# restarts the spool: its server list is read at start only.
#
# @example
#   class { 'puppetdb_sync::spool':
#     servers => ['https://puppetdb1.example.net:8081', 'https://puppetdb2.example.net:8081'],
#   }
#
# @param servers
#   The PuppetDB servers of the terminus's server_urls: the spool delivers to each.
# @param certname
#   This Puppet Server's certname: its certificate serves the spool and reaches the servers.
# @param ssldir
#   Puppet's ssldir, where that certificate, its key, the CA and the CRL are.
# @param host
#   The address the spool listens on.
# @param port
#   The spool's port.
# @param allowed_certnames
#   The certnames whose certificates may submit commands: this Puppet Server.
# @param package_source
#   A .deb on this node, installed with dpkg; undef installs from apt.
# @param package_ensure
#   `installed`, or a version of the package.
class puppetdb_sync::spool (
  Array[Pattern[/\Ahttps?:\/\/[^"\s]+\z/], 1] $servers,
  String[1] $certname = $trusted['certname'],
  Puppetdb_sync::Path $ssldir = $settings::ssldir,
  String[1] $host = '0.0.0.0',
  Integer[1, 65535] $port = 8097,
  Array[String[1], 1] $allowed_certnames = [$trusted['certname']],
  Optional[Puppetdb_sync::Path] $package_source = undef,
  String[1] $package_ensure = 'installed',
) {
  # A PuppetDB host can be a Puppet Server too: `puppetdb_sync` then installs the package.
  $package_provider = $package_source ? { undef => 'apt', default => 'dpkg' }
  if !defined(Package['puppetdb-sync']) {
    package { 'puppetdb-sync':
      ensure   => $package_ensure,
      provider => $package_provider,
      source   => $package_source,
    }
  }

  file { '/etc/puppetdb-sync/spool-allowlist':
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => "${join($allowed_certnames, "\n")}\n",
    require => Package['puppetdb-sync'],
  }

  # Readable by the service's user (puppet) and root only.
  file { '/etc/puppetdb-sync/spool.conf':
    ensure  => file,
    owner   => 'root',
    group   => 'puppet',
    mode    => '0640',
    content => epp('puppetdb_sync/spool.conf.epp', {
      'servers'   => $servers,
      'cert'      => "${ssldir}/certs/${certname}.pem",
      'key'       => "${ssldir}/private_keys/${certname}.pem",
      'ca'        => "${ssldir}/certs/ca.pem",
      'crl'       => "${ssldir}/crl.pem",
      'host'      => $host,
      'port'      => $port,
      'allowlist' => '/etc/puppetdb-sync/spool-allowlist',
    }),
    require => Package['puppetdb-sync'],
  }

  service { 'puppetdb-sync-spool':
    ensure    => running,
    enable    => true,
    subscribe => File['/etc/puppetdb-sync/spool.conf', '/etc/puppetdb-sync/spool-allowlist'],
  }
}
