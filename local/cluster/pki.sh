# Certificates and kubeconfigs of the local cluster, made with openssl. Sourced by cluster.sh.
# Every file is made only when missing (or a certificate expires within 30 days), so repeated
# `up`s keep the same identities; a new CA re-issues everything.

CERT_DAYS=365
CA_DAYS=3650

# pki_key <file>: an RSA key, made once.
pki_key() {
  [[ -s "$1" ]] || openssl genrsa -out "$1" 2048 2>/dev/null
  chmod 600 "$1"
}

# pki_valid <cert>: exists and is good for at least 30 more days.
pki_valid() {
  [[ -s "$1" ]] && openssl x509 -in "$1" -noout -checkend $((30 * 24 * 3600)) >/dev/null 2>&1
}

# pki_ca <name>: a new self-signed CA $PKI/<name>.{key,crt}.
pki_ca() {
  local name="$1"
  pki_key "$PKI/$name.key"
  openssl req -x509 -new -key "$PKI/$name.key" -subj "/CN=$CLUSTER_NAME-$name" -days "$CA_DAYS" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$name.crt" 2>/dev/null
  PKI_CHANGED=1
}

# pki_issue <ca> <name> <subject> <extendedKeyUsage> [subjectAltName]: $PKI/<name>.{key,crt},
# signed by $PKI/<ca>. Re-issuing a certificate sets PKI_CHANGED; issuing one for the first time
# under an existing CA (a component added since the cluster was made) concerns no running component.
pki_issue() {
  local ca="$1" name="$2" subject="$3" usage="$4" san="${5:-}"
  pki_valid "$PKI/$name.crt" && return
  [[ ! -e "$PKI/$name.crt" ]] || PKI_CHANGED=1
  pki_key "$PKI/$name.key"
  {
    printf 'basicConstraints=critical,CA:FALSE\n'
    printf 'keyUsage=critical,digitalSignature,keyEncipherment\n'
    printf 'extendedKeyUsage=%s\n' "$usage"
    [[ -z "$san" ]] || printf 'subjectAltName=%s\n' "$san"
  } >"$PKI/$name.ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subject" 2>/dev/null |
    openssl x509 -req -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days "$CERT_DAYS" -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.ext"
}

# pki_kubeconfig <file> <user> <cert name>: a kubeconfig for the cluster with embedded credentials.
pki_kubeconfig() {
  local file="$1" user="$2" cert="$3" tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $CLUSTER_NAME
    cluster:
      server: $API_URL
      certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
  - name: $user
    user:
      client-certificate-data: $(base64 -w0 <"$PKI/$cert.crt")
      client-key-data: $(base64 -w0 <"$PKI/$cert.key")
contexts:
  - name: $CLUSTER_NAME
    context:
      cluster: $CLUSTER_NAME
      user: $user
current-context: $CLUSTER_NAME
EOF
  chmod 600 "$tmp"
  if cmp -s "$tmp" "$file"; then rm -f "$tmp"; else mv "$tmp" "$file"; fi
}

# pki_ensure: the CA, every component's certificate, the service-account key pair, the kubeconfigs.
# Sets PKI_CHANGED=1 when it made a CA or key pair or re-issued a certificate, so running components
# are restarted to pick it up.
pki_ensure() {
  PKI_CHANGED=0
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if ! pki_valid "$PKI/ca.crt"; then
    # A new cluster CA: nothing of the old one's stays.
    rm -f "$PKI"/*
    pki_ca ca
  fi
  pki_issue ca apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,IP:$KUBERNETES_SERVICE_IP,IP:$ADVERTISE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  pki_issue ca admin "/O=system:masters/CN=$CLUSTER_NAME-admin" clientAuth
  pki_issue ca controller-manager "/CN=system:kube-controller-manager" clientAuth
  pki_issue ca scheduler "/CN=system:kube-scheduler" clientAuth
  pki_issue ca kwok "/CN=kwok-controller" clientAuth
  # The volume provisioner, as the user local-provisioner (addons/local-provisioner-rbac.yaml).
  pki_issue ca local-provisioner "/CN=local-provisioner" clientAuth
  # The aggregation layer's request-header authentication (as kubeadm sets it up): the API server
  # proxies as front-proxy-client; the controller manager and scheduler trust it through the
  # extension-apiserver-authentication ConfigMap.
  if ! pki_valid "$PKI/front-proxy-ca.crt"; then
    rm -f "$PKI/front-proxy-client.crt"
    pki_ca front-proxy-ca
  fi
  pki_issue front-proxy-ca front-proxy-client "/CN=front-proxy-client" clientAuth
  if [[ ! -s "$PKI/sa.key" || ! -s "$PKI/sa.pub" ]]; then
    rm -f "$PKI/sa.key"
    pki_key "$PKI/sa.key"
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
    PKI_CHANGED=1
  fi
  pki_kubeconfig "$ADMIN_KUBECONFIG" "$CLUSTER_NAME-admin" admin
  pki_kubeconfig "$STATE/controller-manager.kubeconfig" system:kube-controller-manager controller-manager
  pki_kubeconfig "$STATE/scheduler.kubeconfig" system:kube-scheduler scheduler
  pki_kubeconfig "$STATE/kwok.kubeconfig" kwok-controller kwok
  pki_kubeconfig "$STATE/local-provisioner.kubeconfig" local-provisioner local-provisioner
}
