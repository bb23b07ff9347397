# @summary Points Puppet Server at two or more PuppetDBs, every command to each.
#
# Writes puppetdb.conf for the PuppetDB terminus: `command_broadcast` sends every
# command to every server, and a run fails only when fewer than
# `min_successful_submissions` took it; the sidecars repair what one server missed
# (docs/puppet.md of puppetdb-sync).
#
# @example
#   class { 'puppetdb_sync::puppet_server':
#     server_urls => ['https://puppetdb1.example.net:8081', 'https://puppetdb2.example.net:8081'],
#   }
#
# @param server_urls
#   The PuppetDB servers, in the order reads prefer them.
# @param submit_only_server_urls
#   Servers that take commands but are never read from: this host's
#   `puppetdb-sync spool`, by the name its certificate has.
# @param min_successful_submissions
#   How many of the servers must take a command for the run to succeed.
# @param path
#   The terminus's puppetdb.conf: Puppet's confdir holds it, /etc/puppetlabs/puppet
#   for Puppet's packages and /etc/puppet for Debian's.
class puppetdb_sync::puppet_server (
  Array[Pattern[/\Ahttps?:\/\/[^,\s]+\z/], 2] $server_urls,
  Array[Pattern[/\Ahttps:\/\/[^,\s]+\z/]] $submit_only_server_urls = [],
  Integer[1] $min_successful_submissions = 1,
  Puppetdb_sync::Path $path = "${settings::confdir}/puppetdb.conf",
) {
  file { $path:
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('puppetdb_sync/puppetdb.conf.epp', {
      'server_urls'                => $server_urls,
      'submit_only_server_urls'    => $submit_only_server_urls,
      'min_successful_submissions' => $min_successful_submissions,
    }),
  }
}
