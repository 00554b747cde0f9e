// Command local-provisioner is the local cluster's dynamic volume provisioner (local/cluster).
//
// It backs every volume with a directory under --volume-dir and stands in for a cloud's CSI driver:
// what a class offers is set by its parameters, and a claim asking for more stays Pending with a
// ProvisioningFailed event, as on EKS, GKE or AKS. All the nodes are this one machine, so a directory
// could serve any access mode anywhere; the parameters take that away where a cloud would:
//
//	accessModes  comma-separated access modes the class supports (default: all four). A zonal
//	             block-storage class (gp3, pd-ssd, Premium SSD) offers ReadWriteOnce,ReadWriteOncePod.
//	topology     "zone": the volume lives in the zone of the node the scheduler selected for the
//	             claim's first pod (PV node affinity on topology.kubernetes.io/zone), so pods in
//	             other zones cannot use it; needs volumeBindingMode WaitForFirstConsumer.
//	             "none" (default): reachable from every node, like a regional file service.
//	uid, gid     owner of the volume's root directory (default 1000, the bot's UID/GID).
//
// Ownership: the kubelet gives a cloud volume to the pod's fsGroup when it mounts it, but leaves a
// hostPath volume as it is. So the root directory is created with mode 2775 (group-writable,
// setgid so new files keep its group), owned by uid and by the fsGroup of the pod the claim was
// provisioned for, or gid if that pod sets none. Unlike the kubelet's, this happens once, at
// provisioning.
//
// It is an "external" provisioner in the sense of the PV controller
// (k8s.io/kubernetes/pkg/controller/volume/persistentvolume), and follows the same protocol as
// sig-storage-lib-external-provisioner:
//
//   - The PV controller marks a claim of a class whose provisioner it has no plugin for with
//     volume.kubernetes.io/storage-provisioner=<class provisioner>. For a WaitForFirstConsumer class
//     it does so only after the scheduler picked a node for the claim's first pod and recorded it in
//     volume.kubernetes.io/selected-node; the scheduler then waits for the claim to bind.
//   - We create the PV "pvc-<claim UID>" (the name the PV controller would use, so a retry cannot
//     make a second volume) with a claimRef to the claim, annotated pv.kubernetes.io/provisioned-by.
//     The PV controller sees the pre-bound PV and binds the claim to it.
//   - When the claim goes, the PV controller marks the PV Released and, its reclaim policy being
//     Delete and its provisioner not one of its plugins, leaves the deletion to us: we remove the
//     directory and delete the PV. Our finalizer (external-provisioner.volume.kubernetes.io/finalizer,
//     the one the PV controller leaves alone for external provisioners) keeps a PV that someone
//     deletes directly from vanishing before its directory is removed.
//
// Claims, volumes and classes are watched through shared informers; their keys go through one
// rate-limited work queue, handled by a single worker, so nothing here runs concurrently and every
// failure is retried with back-off.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	storagehelpers "k8s.io/component-helpers/storage/volume"
)

// item is a unit of work: a claim ("namespace/name") or a volume (its name).
type item struct {
	claim bool
	key   string
}

type provisioner struct {
	name      string // the StorageClass provisioner we serve
	volumeDir string // absolute; every volume is the directory <volumeDir>/<PV name>
	client    kubernetes.Interface
	events    record.EventRecorder
	claims    corelisters.PersistentVolumeClaimLister
	volumes   corelisters.PersistentVolumeLister
	classes   storagelisters.StorageClassLister
	queue     workqueue.TypedRateLimitingInterface[item]
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig with this provisioner's credentials")
	name := flag.String("provisioner-name", "trading-bot.local/hostpath", "the provisioner of the StorageClasses served")
	volumeDir := flag.String("volume-dir", "", "directory under which each volume gets a directory named after its PV")
	healthAddr := flag.String("health-address", "127.0.0.1:26461", "address of the /healthz endpoint (ok once the caches are synced)")
	flag.Parse()
	if *kubeconfig == "" || *volumeDir == "" {
		log.Fatal("--kubeconfig and --volume-dir are required")
	}
	dir, err := filepath.Abs(*volumeDir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		log.Fatalf("volume directory: %v", err)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig: %v", err)
	}
	config.UserAgent = "local-provisioner"
	client := kubernetes.NewForConfigOrDie(config)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Events on claims and volumes, as `kubectl describe` shows them for a real provisioner.
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: client.CoreV1().Events("")})
	defer broadcaster.Shutdown()

	// The periodic resync re-queues everything now and then: a cheap safety net in a small cluster.
	factory := informers.NewSharedInformerFactory(client, time.Minute)
	p := &provisioner{
		name:      *name,
		volumeDir: dir,
		client:    client,
		events:    broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "local-provisioner"}),
		claims:    factory.Core().V1().PersistentVolumeClaims().Lister(),
		volumes:   factory.Core().V1().PersistentVolumes().Lister(),
		classes:   factory.Storage().V1().StorageClasses().Lister(),
		queue:     workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[item]()),
	}
	enqueue := func(claim bool) cache.ResourceEventHandlerFuncs {
		add := func(obj any) {
			if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
				p.queue.Add(item{claim, key})
			}
		}
		return cache.ResourceEventHandlerFuncs{AddFunc: add, UpdateFunc: func(_, obj any) { add(obj) }}
	}
	mustHandle := func(_ cache.ResourceEventHandlerRegistration, err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	mustHandle(factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(enqueue(true)))
	mustHandle(factory.Core().V1().PersistentVolumes().Informer().AddEventHandler(enqueue(false)))
	// A claim waiting for a class we have not seen yet is retried by the queue's back-off.
	factory.Storage().V1().StorageClasses().Informer()

	factory.Start(ctx.Done())
	var synced atomic.Bool
	http.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !synced.Load() {
			http.Error(w, "caches not synced yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	})
	go func() { log.Fatal(http.ListenAndServe(*healthAddr, nil)) }()
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			log.Fatalf("cache of %v did not sync", typ)
		}
	}
	synced.Store(true)
	log.Printf("provisioning volumes of class provisioner %q under %s", p.name, p.volumeDir)

	go func() { <-ctx.Done(); p.queue.ShutDown() }()
	for p.next(ctx) {
	}
	factory.Shutdown()
	log.Print("stopped")
}

// next handles one queued item; false once the queue is shut down.
func (p *provisioner) next(ctx context.Context) bool {
	it, shutdown := p.queue.Get()
	if shutdown {
		return false
	}
	defer p.queue.Done(it)
	var err error
	if it.claim {
		err = p.syncClaim(ctx, it.key)
	} else {
		err = p.syncVolume(ctx, it.key)
	}
	if err != nil {
		log.Printf("%s (will retry): %v", it.key, err)
		p.queue.AddRateLimited(it)
		return true
	}
	p.queue.Forget(it)
	return true
}

// syncClaim provisions a volume for the claim if the PV controller (and, for WaitForFirstConsumer,
// the scheduler) asked us to and it has none yet.
func (p *provisioner) syncClaim(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	claim, err := p.claims.PersistentVolumeClaims(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	// Bound (or asked for a given PV), going away, or not (yet) handed to us by the PV controller.
	if claim.Spec.VolumeName != "" || claim.DeletionTimestamp != nil {
		return nil
	}
	if claim.Annotations[storagehelpers.AnnStorageProvisioner] != p.name &&
		claim.Annotations[storagehelpers.AnnBetaStorageProvisioner] != p.name {
		return nil
	}
	class, err := p.classes.Get(storagehelpers.GetPersistentVolumeClaimClass(claim))
	if err != nil {
		return fmt.Errorf("storage class of the claim: %w", err)
	}
	if class.Provisioner != p.name {
		return nil
	}
	// The PV controller only hands over a WaitForFirstConsumer claim once the scheduler chose a node,
	// but checking it as well keeps a claim whose node was withdrawn from being provisioned.
	if class.VolumeBindingMode != nil && *class.VolumeBindingMode == storagev1.VolumeBindingWaitForFirstConsumer {
		if _, ok := claim.Annotations[storagehelpers.AnnSelectedNode]; !ok {
			return nil
		}
	}
	pvName := "pvc-" + string(claim.UID)
	if _, err := p.volumes.Get(pvName); err == nil {
		return nil // provisioned already; the PV controller binds it
	}
	// What a directory cannot be: a block device, a copy of another volume, a pick among existing PVs;
	// and what the class does not offer.
	params, err := parseParameters(class)
	var unsupported string
	switch {
	case err != nil:
		unsupported = err.Error()
	case claim.Spec.VolumeMode != nil && *claim.Spec.VolumeMode == v1.PersistentVolumeBlock:
		unsupported = "claims with volumeMode Block are not supported"
	case claim.Spec.DataSource != nil || claim.Spec.DataSourceRef != nil:
		unsupported = "claims with a data source are not supported"
	case claim.Spec.Selector != nil:
		unsupported = "claims with a selector are not supported"
	default:
		for _, mode := range claim.Spec.AccessModes {
			if !slices.Contains(params.accessModes, mode) {
				unsupported = fmt.Sprintf("access mode %s is not supported: the class supports only %s", mode, joinModes(params.accessModes))
				break
			}
		}
	}
	if unsupported != "" {
		p.events.Eventf(claim, v1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume with StorageClass %q: %s", class.Name, unsupported)
		return nil // not retried: the claim must change first, which queues it again
	}

	var affinity *v1.VolumeNodeAffinity
	if params.zonal {
		zone, err := p.selectedZone(ctx, claim)
		if err != nil {
			return p.failed(claim, err)
		}
		affinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelTopologyZone, Operator: v1.NodeSelectorOpIn, Values: []string{zone}}},
		}}}}
	}
	gid := params.gid
	if fsGroup, err := p.consumerFSGroup(ctx, claim); err != nil {
		return p.failed(claim, err)
	} else if fsGroup != nil {
		gid = *fsGroup
	}

	p.events.Eventf(claim, v1.EventTypeNormal, "Provisioning", "External provisioner is provisioning volume for claim %q", key)
	dir := filepath.Join(p.volumeDir, pvName)
	if err := makeVolumeDir(dir, params.uid, gid); err != nil {
		return p.failed(claim, err)
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if class.ReclaimPolicy != nil {
		reclaim = *class.ReclaimPolicy
	}
	hostPathType := v1.HostPathDirectory
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName,
			Annotations: map[string]string{storagehelpers.AnnDynamicallyProvisioned: p.name},
			Finalizers:  []string{storagehelpers.PVDeletionProtectionFinalizer},
		},
		Spec: v1.PersistentVolumeSpec{
			Capacity:    v1.ResourceList{v1.ResourceStorage: claim.Spec.Resources.Requests[v1.ResourceStorage]},
			AccessModes: claim.Spec.AccessModes,
			VolumeMode:  claim.Spec.VolumeMode,
			ClaimRef: &v1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: claim.Namespace, Name: claim.Name, UID: claim.UID, ResourceVersion: claim.ResourceVersion,
			},
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              class.Name,
			MountOptions:                  class.MountOptions,
			NodeAffinity:                  affinity,
			PersistentVolumeSource:        v1.PersistentVolumeSource{HostPath: &v1.HostPathVolumeSource{Path: dir, Type: &hostPathType}},
		},
	}
	if _, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		_ = os.Remove(dir) // only if still empty
		return p.failed(claim, err)
	}
	log.Printf("%s: provisioned %s (%s, %v, class %s, owner %d:%d)", key, pvName, pv.Spec.Capacity.Storage(), pv.Spec.AccessModes, class.Name, params.uid, gid)
	p.events.Eventf(claim, v1.EventTypeNormal, "ProvisioningSucceeded", "Successfully provisioned volume %s", pvName)
	return nil
}

// classParameters are what a class offers (see the package comment).
type classParameters struct {
	accessModes []v1.PersistentVolumeAccessMode
	zonal       bool
	uid, gid    int64
}

var allAccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce, v1.ReadOnlyMany, v1.ReadWriteMany, v1.ReadWriteOncePod}

// parseParameters reads a class's parameters; like a CSI driver, it rejects one it does not know.
func parseParameters(class *storagev1.StorageClass) (classParameters, error) {
	params := classParameters{accessModes: allAccessModes, uid: defaultOwner, gid: defaultOwner}
	for key, value := range class.Parameters {
		switch key {
		case "accessModes":
			params.accessModes = nil
			for _, field := range strings.Split(value, ",") {
				mode := v1.PersistentVolumeAccessMode(strings.TrimSpace(field))
				if !slices.Contains(allAccessModes, mode) {
					return params, fmt.Errorf("parameter accessModes: unknown access mode %q", mode)
				}
				params.accessModes = append(params.accessModes, mode)
			}
		case "topology":
			if value != "zone" && value != "none" {
				return params, fmt.Errorf("parameter topology: %q is neither zone nor none", value)
			}
			params.zonal = value == "zone"
			if params.zonal && (class.VolumeBindingMode == nil || *class.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer) {
				return params, fmt.Errorf("parameter topology zone needs volumeBindingMode WaitForFirstConsumer")
			}
		case "uid", "gid":
			id, err := strconv.ParseInt(value, 10, 32)
			if err != nil || id < 0 {
				return params, fmt.Errorf("parameter %s: %q is not a UID/GID", key, value)
			}
			if key == "uid" {
				params.uid = id
			} else {
				params.gid = id
			}
		default:
			return params, fmt.Errorf("unknown parameter %q", key)
		}
	}
	return params, nil
}

// defaultOwner is the UID and GID the bot's pods run as (components/tradingBot/workload.ts).
const defaultOwner = 1000

func joinModes(modes []v1.PersistentVolumeAccessMode) string {
	names := make([]string, len(modes))
	for i, mode := range modes {
		names[i] = string(mode)
	}
	return strings.Join(names, ", ")
}

// selectedZone is the zone of the node the scheduler selected for the claim's first pod.
func (p *provisioner) selectedZone(ctx context.Context, claim *v1.PersistentVolumeClaim) (string, error) {
	name := claim.Annotations[storagehelpers.AnnSelectedNode]
	node, err := p.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("the selected node: %w", err)
	}
	zone := node.Labels[v1.LabelTopologyZone]
	if zone == "" {
		return "", fmt.Errorf("the selected node %s has no %s label", name, v1.LabelTopologyZone)
	}
	return zone, nil
}

// consumerFSGroup is the fsGroup of the oldest live pod that uses the claim (directly or as its
// generic ephemeral volume), nil if none sets one.
func (p *provisioner) consumerFSGroup(ctx context.Context, claim *v1.PersistentVolumeClaim) (*int64, error) {
	pods, err := p.client.CoreV1().Pods(claim.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing the claim's pods: %w", err)
	}
	slices.SortStableFunc(pods.Items, func(a, b v1.Pod) int {
		return a.CreationTimestamp.Compare(b.CreationTimestamp.Time)
	})
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp != nil || pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.FSGroup == nil {
			continue
		}
		for _, volume := range pod.Spec.Volumes {
			if volume.PersistentVolumeClaim != nil && volume.PersistentVolumeClaim.ClaimName == claim.Name ||
				volume.Ephemeral != nil && pod.Name+"-"+volume.Name == claim.Name {
				return pod.Spec.SecurityContext.FSGroup, nil
			}
		}
	}
	return nil, nil
}

// makeVolumeDir creates the volume's directory (or, on a retry, finds it) owned by uid:gid, mode 2775.
func makeVolumeDir(dir string, uid, gid int64) error {
	if err := os.MkdirAll(dir, 0o775); err != nil {
		return err
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return fmt.Errorf("%w (the provisioner must run as root to give volumes to UID %d)", err, uid)
	}
	// Chmod, as MkdirAll's mode is subject to the umask and cannot set the setgid bit.
	return os.Chmod(dir, 0o775|os.ModeSetgid)
}

func (p *provisioner) failed(claim *v1.PersistentVolumeClaim, err error) error {
	p.events.Eventf(claim, v1.EventTypeWarning, "ProvisioningFailed", "failed to provision volume: %v", err)
	return err
}

// syncVolume deletes a Released volume of ours whose reclaim policy is Delete: first its directory,
// then the PV, then our finalizer (the order of sig-storage-lib-external-provisioner).
func (p *provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if pv.Annotations[storagehelpers.AnnDynamicallyProvisioned] != p.name {
		return nil
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete {
		// Retain: the directory stays for whoever wants the data, and the PV may go at any time.
		return p.dropFinalizer(ctx, name)
	}
	// Still bound, or not bound yet; a PV deleted while bound waits here for its claim to go.
	if pv.Status.Phase != v1.VolumeReleased {
		return nil
	}
	// The directory is derived from the PV's name, never taken from its spec: a PV that merely claims
	// to be ours cannot make us delete anything outside --volume-dir.
	if err := os.RemoveAll(filepath.Join(p.volumeDir, pv.Name)); err != nil {
		p.events.Eventf(pv, v1.EventTypeWarning, "VolumeFailedDelete", "removing the volume's directory: %v", err)
		return err
	}
	if pv.DeletionTimestamp == nil {
		err := p.client.CoreV1().PersistentVolumes().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		log.Printf("%s: released by %s/%s, directory removed, volume deleted", name, pv.Spec.ClaimRef.Namespace, pv.Spec.ClaimRef.Name)
	}
	return p.dropFinalizer(ctx, name)
}

// dropFinalizer removes our finalizer from the PV. It reads the PV afresh, as the cached copy may be
// older than a deletion just made, and tries again when another controller (pv-protection) changed
// the PV in between.
func (p *provisioner) dropFinalizer(ctx context.Context, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pv, err := p.client.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		i := slices.Index(pv.Finalizers, storagehelpers.PVDeletionProtectionFinalizer)
		if i < 0 {
			return nil
		}
		pv.Finalizers = slices.Delete(pv.Finalizers, i, i+1)
		_, err = p.client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing the finalizer: %w", err)
	}
	return nil
}
