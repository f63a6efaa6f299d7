# language: ko
기능: 디버깅용 busybox 파드
  busybox-debug.yaml의 busybox-debug-pod는 ping-target에 ping을 세 번 보내고, 잠든 채로
  kubectl exec를 기다립니다. 그 안에서 nslookup과 wget으로 서비스를 살펴봅니다.

  @points:1
  시나리오: busybox-debug-pod가 버전이 고정된 busybox 이미지로 실행된다
    image에 busybox:1.36처럼 버전 태그를 적으세요. 태그를 빼면 latest가 되고, latest는
    언제 받느냐에 따라 다른 이미지가 됩니다. 파드가 Ready가 되지 않으면 command를
    확인하세요: 스크립트를 넘길 때는 sh -c가 필요하고, 마지막에 sleep 3600으로 잠들어야 합니다.

    만일 제출물의 "busybox-debug.yaml"을(를) 적용한다
    그러면 파드 "busybox-debug-pod"이(가) 60초 안에 Ready가 되어 계속 실행된다
    그리고 파드 "busybox-debug-pod"의 모든 이미지가 고정된 버전을 가리킨다

  @points:1
  시나리오: ping-target에 ping을 3번 보내고 응답 3개를 받는다
    ping -c 3 ping-target 으로 정확히 세 번 보내세요. ping-target은 채점 때 같은 네임스페이스에
    뜨므로 짧은 이름 ping-target으로 닿습니다. 다른 네임스페이스(default 등)의 전체 이름을
    적으면 bad address가 납니다. 전체 이름을 쓰려면 다운워드 API로 네임스페이스를 받으세요.

    조건 준비물 "ping-target"이(가) 실행 중이다
    만일 제출물의 "busybox-debug.yaml"을(를) 적용한다
    그러면 파드 "busybox-debug-pod"이(가) 60초 안에 Ready가 되어 계속 실행된다
    그리고 파드 "busybox-debug-pod"의 로그에 곧 패킷 3개를 "ping-target"에 보내고 3개를 받았다고 나온다

  @points:1
  시나리오: 로그에 머리말, ping 결과, 잠든다는 줄이 차례로 나온다
    ping 앞에 "Pinging"이 들어간 머리말(예: --- Pinging ping-target (3 times) ---)을,
    ping 뒤에 "sleeping"이 들어간 줄(예: --- Pod is now sleeping. Use 'kubectl exec' to get a shell. ---)을
    echo로 찍으세요. kubectl logs busybox-debug-pod로 직접 확인할 수 있습니다.

    조건 준비물 "ping-target"이(가) 실행 중이다
    만일 제출물의 "busybox-debug.yaml"을(를) 적용한다
    그러면 파드 "busybox-debug-pod"이(가) 60초 안에 Ready가 되어 계속 실행된다
    그리고 파드 "busybox-debug-pod"의 로그에 곧 "Pinging | ping statistics | sleeping"을(를) 담은 줄들이 대소문자 구분 없이 이 순서로 나온다

  @points:1
  시나리오: kubectl exec로 busybox-debug-pod 안에서 ls /를 실행할 수 있다
    컨테이너가 잠든 채 계속 살아 있어야 kubectl exec로 들어갈 수 있습니다. 스크립트 끝의
    sleep 3600을 빼먹지 마세요.

    만일 제출물의 "busybox-debug.yaml"을(를) 적용한다
    그러면 파드 "busybox-debug-pod"이(가) 60초 안에 Ready가 되어 계속 실행된다
    만일 파드 "busybox-debug-pod"에서 "ls /"을(를) 실행한다
    그러면 성공한다
    그리고 출력에 단어 "bin etc proc"이(가) 모두 있다

  @points:1 @races
  시나리오: busybox-debug-pod 안에서 nslookup으로 web 서비스를 찾는다
    파드의 DNS 설정(dnsPolicy, dnsConfig)은 건드리지 마세요. 그래야 kubelet이 파드를
    클러스터 DNS(CoreDNS)로 안내합니다.

    조건 준비물 "web"이(가) 실행 중이다
    그리고 서비스 "web"의 클러스터 IP를 읽어 둔다
    만일 제출물의 "busybox-debug.yaml"을(를) 적용한다
    그러면 파드 "busybox-debug-pod"이(가) 60초 안에 Ready가 되어 계속 실행된다
    만일 파드 "busybox-debug-pod"에서 "nslookup web.{{namespace}}.svc.cluster.local"을(를) 실행한다
    그러면 출력에 "{{web.clusterIP}}"이(가) 들어 있다

  @points:1 @races
  시나리오: busybox-debug-pod 안에서 wget으로 web 서비스의 페이지를 받는다
    파드가 잠든 채 살아 있고 클러스터 DNS를 쓰면 wget -q -O - http://web/ 이 페이지를 받아 옵니다.

    조건 준비물 "web"이(가) 실행 중이다
    만일 제출물의 "busybox-debug.yaml"을(를) 적용한다
    그러면 파드 "busybox-debug-pod"이(가) 60초 안에 Ready가 되어 계속 실행된다
    만일 파드 "busybox-debug-pod"에서 "wget -q -O - http://web.{{namespace}}.svc.cluster.local/"을(를) 실행한다
    그러면 성공한다
    그리고 출력에 "kgrade-web-7c2e"이(가) 들어 있다
