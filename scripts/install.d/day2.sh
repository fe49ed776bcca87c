# Day-2 operations: promtool, to check and unit-test the alert rules for real.
# Debian's `prometheus` package is large and starts a server; only its promtool binary is
# needed, so the .deb is downloaded and that one file extracted into the e2e cache.
day2_promtool="${REGISTRY_E2E_CACHE:-$HOME/.cache/registry-e2e}/bin/promtool"
if [ ! -x "$day2_promtool" ]; then
  echo "== promtool (from Debian's prometheus package)"
  day2_tmp=$(mktemp -d)
  chmod 755 "$day2_tmp"   # apt's download user must be able to write there
  (cd "$day2_tmp" && apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus >/dev/null; })
  dpkg-deb -x "$day2_tmp"/prometheus_*.deb "$day2_tmp/x"
  install -m 0755 "$day2_tmp/x/usr/bin/promtool" "$day2_promtool"
  rm -rf "$day2_tmp"
fi
unset day2_promtool day2_tmp
