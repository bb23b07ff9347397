# An absolute path that can go between double quotes in the sidecar's HOCON as it is.
type Puppetdb_sync::Path = Pattern[/\A\/[^"\\\s]*\z/]
