package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// client-go's usual timings: a dead leader's Lease is taken over within leaseDuration.
const (
	leaseDuration = 15 * time.Second
	renewDeadline = 10 * time.Second
	retryPeriod   = 2 * time.Second
)

// lead keeps b.leader true while this replica may trade. Without leader election the bot is the
// only replica (the Deployment recreates, never overlaps), so it leads. With it, the replica
// competes for the Lease LEADER_ELECTION_LEASE_NAME as POD_NAME, with the pod's service-account
// token; when it cannot read or write the Lease it logs why and never leads.
func (b *Bot) lead(ctx context.Context) {
	if !b.cfg.LeaderElection {
		b.leader.Store(true)
		return
	}
	restConfig, err := rest.InClusterConfig()
	if err != nil {
		b.log.Error("leader election: no in-cluster credentials; this replica will never lead", "error", err)
		return
	}
	client, err := kubernetes.NewForConfig(restConfig)
	if err != nil {
		b.log.Error("leader election: cannot create a Kubernetes client; this replica will never lead", "error", err)
		return
	}
	b.elect(ctx, client)
}

// elect competes for the Lease through client until ctx ends.
func (b *Bot) elect(ctx context.Context, client kubernetes.Interface) {
	lock := &loggingLock{
		Interface: &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: b.cfg.LeaseName, Namespace: b.cfg.PodNamespace},
			Client:     client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: b.cfg.Identity()},
		},
		log: b.log,
	}
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:          lock,
		LeaseDuration: leaseDuration,
		RenewDeadline: renewDeadline,
		RetryPeriod:   retryPeriod,
		// Hand the Lease over at once on SIGTERM instead of making the next leader wait it out.
		ReleaseOnCancel: true,
		Name:            b.cfg.LeaseName,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(context.Context) {
				b.leader.Store(true)
				b.log.Info("leader election: leading", "lease", b.cfg.LeaseName, "identity", b.cfg.Identity())
			},
			OnStoppedLeading: func() {
				b.leader.Store(false)
				b.log.Info("leader election: not leading", "lease", b.cfg.LeaseName)
			},
			OnNewLeader: func(identity string) {
				if identity != b.cfg.Identity() {
					b.log.Info("leader election: another replica leads", "leader", identity)
				}
			},
		},
	})
	if err != nil {
		b.log.Error("leader election: invalid configuration; this replica will never lead", "error", err)
		return
	}
	b.log.Info("leader election: competing for the Lease", "lease", b.cfg.LeaseName, "namespace", b.cfg.PodNamespace, "identity", b.cfg.Identity())
	// Run returns when leadership is lost; compete again until the bot stops.
	for ctx.Err() == nil {
		elector.Run(ctx)
	}
}

// loggingLock logs why the Lease cannot be read or written (a missing RBAC rule shows as the API
// server's 403 message), once per distinct reason, and when it works again.
type loggingLock struct {
	resourcelock.Interface
	log     *slog.Logger
	mu      sync.Mutex
	lastErr string
}

func (l *loggingLock) Get(ctx context.Context) (*resourcelock.LeaderElectionRecord, []byte, error) {
	record, raw, err := l.Interface.Get(ctx)
	if !apierrors.IsNotFound(err) { // not found: not created yet, Create comes next
		l.report("get", err)
	}
	return record, raw, err
}

func (l *loggingLock) Create(ctx context.Context, record resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Create(ctx, record)
	l.report("create", err)
	return err
}

func (l *loggingLock) Update(ctx context.Context, record resourcelock.LeaderElectionRecord) error {
	err := l.Interface.Update(ctx, record)
	l.report("update", err)
	return err
}

func (l *loggingLock) report(op string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		if l.lastErr != "" {
			l.log.Info("leader election: the Lease is reachable again")
		}
		l.lastErr = ""
		return
	}
	if msg := op + ": " + err.Error(); msg != l.lastErr {
		l.lastErr = msg
		l.log.Error("leader election: cannot "+op+" the Lease; this replica does not lead", "lease", l.Describe(), "error", err.Error())
	}
}
