# language: ko
기능: busybox는 실행 파일 하나다
  busybox 이미지에서는 /bin/busybox 하나가 ls, cat, wget, ping 같은 명령어의 역할을 모두
  합니다. 그래서 이미지가 몇 MB밖에 되지 않습니다. 아래는 강의의 이 말이 이 클러스터의
  busybox 이미지에서도 맞는지 보는 확인입니다(점수 없음).

  @course @severity:medium
  시나리오: busybox --list에 ls, cat, echo, grep, wget, ping, telnet, nslookup이 있다
    클러스터가 쓰는 레지스트리의 busybox 이미지가 이 애플릿들을 모두 넣어 빌드되었는지 확인한다.

    조건 채점기의 클라이언트 파드 "toolbox"이(가) 실행 중이다
    만일 파드 "toolbox"에서 "busybox --list"을(를) 실행한다
    그러면 성공한다
    그리고 출력에 단어 "ls cat echo grep wget ping telnet nslookup"이(가) 모두 있다

  @course @severity:low
  시나리오: 이미지 안의 /bin/ls는 busybox 바로 그 실행 파일이다
    busybox 이미지의 /bin/ls가 busybox로 가는 링크인지 확인하고, 아니면 이미지를 다시 빌드한다.

    조건 채점기의 클라이언트 파드 "toolbox"이(가) 실행 중이다
    그러면 파드 "toolbox" 안의 "/bin/ls"은(는) "/bin/busybox"와(과) 같은 프로그램이다

  @course @severity:low
  시나리오: busybox 이미지는 5 MB보다 작다
    레지스트리의 busybox 이미지가 정적 busybox 하나로 된 작은 이미지인지 확인한다.

    조건 채점기의 클라이언트 파드 "toolbox"이(가) 실행 중이다
    그러면 파드 "toolbox"의 이미지는 노드에서 5 MB보다 작다
