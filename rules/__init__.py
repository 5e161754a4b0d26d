"""The rules catalogue: data files only (one TOML file per NHN service, plus qos.toml)."""
