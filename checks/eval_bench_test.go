package checks_test

import (
	"context"
	"testing"

	"github.com/baselinehq/baseline/assets"
	"github.com/baselinehq/baseline/benchmarks"
	"github.com/baselinehq/baseline/checks"
	"github.com/baselinehq/baseline/internal/jsondoc"
)

// inspectDoc is a container's inspect document as the engine gives it.
const inspectDoc = `{"Id":"4f2a9c0d1e2f","Created":"2026-01-02T03:04:05.123456789Z","Path":"sleep","Args":["1"],
"State":{"Status":"created","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"},
"Image":"sha256:0d3e","ResolvConfPath":"","HostnamePath":"","HostsPath":"","LogPath":"","Name":"/web-1","RestartCount":0,"Driver":"overlay2","Platform":"linux","MountLabel":"","ProcessLabel":"","AppArmorProfile":"","ExecIDs":null,
"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"json-file","Config":{}},"NetworkMode":"bridge","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],
"CapAdd":null,"CapDrop":null,"CgroupnsMode":"private","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"private","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":67108864,"Runtime":"runc","Isolation":"",
"CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,
"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore"],"ReadonlyPaths":["/proc/bus","/proc/fs"]},
"Mounts":[],"Config":{"Hostname":"4f2a9c0d1e2f","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,
"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sleep","1"],"Image":"baseline-test/base:1","Volumes":null,"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"io.baselinehq.bench":"1"}},
"NetworkSettings":{"Bridge":"","SandboxID":"","SandboxKey":"","Ports":{},"HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"Networks":{"bridge":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"DriverOpts":null,"DNSNames":null}}}}`

// inspectFacts serves a container's inspect document; every other source
// finds nothing.
type inspectFacts struct{ subjects []checks.Subject }

func (f inspectFacts) Observe(_ context.Context, src *checks.Source) (checks.Observation, error) {
	if src.Kind == checks.SourceContainer {
		return checks.Observation{Subjects: f.subjects}, nil
	}
	return checks.Observation{Empty: "not read"}, nil
}

// BenchmarkEvaluateContainer judges every built-in container item on one
// container, as a scan does on each.
func BenchmarkEvaluateContainer(b *testing.B) {
	cat, err := checks.Load(benchmarks.Tree())
	if err != nil {
		b.Fatal(err)
	}
	var items []*checks.Item
	for _, it := range cat.Items() {
		if it.AssetType == assets.Container && it.Target == "" {
			items = append(items, it)
		}
	}
	doc, err := jsondoc.Decode([]byte(inspectDoc))
	if err != nil {
		b.Fatal(err)
	}
	facts := inspectFacts{[]checks.Subject{{Name: "container inspect", Doc: doc, Masked: true}}}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		for _, it := range items {
			_ = it.Evaluate(ctx, facts)
		}
	}
	b.ReportMetric(float64(len(items)), "items")
}
