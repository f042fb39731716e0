#!/bin/sh
# install.sh STAND-IN for the Kickstand journey lab; NOT k3s's install.sh (it ships in the
# stand-in k3s release beside the stand-in binary, see k3s). With INSTALL_K3S_SKIP_DOWNLOAD=true,
# the way Kickstand's bootstrap runs it, the real installer uses the binary already at
# /usr/local/bin/k3s, writes /etc/systemd/system/k3s.service (server) or k3s-agent.service
# (agent) with K3S_TOKEN and K3S_URL in the service's .env file (0600), reloads systemd,
# enables the service and restarts it (Type=notify: the restart returns once k3s is ready).
# This does the same, and no more: no kubectl/crictl/ctr links, no killall/uninstall scripts,
# no SELinux policy.
set -eu
if [ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" != true ]; then
  echo "install.sh stand-in: only the air-gapped install (INSTALL_K3S_SKIP_DOWNLOAD=true) is possible here" >&2
  exit 1
fi
[ -x /usr/local/bin/k3s ] || { echo "install.sh stand-in: /usr/local/bin/k3s is missing" >&2; exit 1; }
case ${1:-} in
  server | agent) cmd=$1; shift ;;
  *) if [ -n "${K3S_URL:-}" ]; then cmd=agent; else cmd=server; fi ;;
esac
svc=k3s
[ "$cmd" = agent ] && svc=k3s-agent
unit=/etc/systemd/system/$svc.service
umask 077
{
  if [ -n "${K3S_TOKEN:-}" ]; then echo "K3S_TOKEN=$K3S_TOKEN"; fi
  if [ -n "${K3S_URL:-}" ]; then echo "K3S_URL=$K3S_URL"; fi
} >"$unit.env"
umask 022
cat >"$unit" <<UNIT
[Unit]
Description=k3s STAND-IN ($cmd) of the Kickstand journey lab, not k3s
Wants=network-online.target
After=network-online.target

[Service]
Type=notify
NotifyAccess=all
EnvironmentFile=-$unit.env
ExecStart=/usr/local/bin/k3s $cmd $*
TimeoutStartSec=0
Restart=always
RestartSec=5s

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable "$svc.service" >/dev/null 2>&1
echo "install.sh stand-in: starting $svc.service (k3s $cmd $*)"
systemctl restart "$svc.service"
echo "install.sh stand-in: $svc.service is $(systemctl is-active "$svc.service")"
