# language: ko
기능: init 컨테이너로 설정 파일 받기
  init-demo의 init 컨테이너는 메인 컨테이너보다 먼저 돌아 config-server에서 config.txt를
  받아 emptyDir 볼륨에 두고 읽기 전용으로 만듭니다. 메인 컨테이너는 같은 볼륨에서 그 파일을
  읽어 출력합니다.

  배경:
    조건 준비물 "config-server"이(가) 실행 중이다
    만일 제출물의 "init-demo.yaml"을(를) 적용한다

  @points:1 @races
  시나리오: init 컨테이너가 종료 코드 0으로 끝난다
    init 컨테이너의 wget이 실패하면 파드는 Init:CrashLoopBackOff에 머뭅니다. config-server는
    채점 때 같은 네임스페이스에 뜹니다: http://config-server/config.txt 처럼 짧은 이름을 쓰거나,
    다운워드 API로 받은 네임스페이스로 전체 이름을 만드세요(default 네임스페이스가 아닙니다).

    그러면 파드 "init-demo"의 init 컨테이너들의 종료 코드가 모두 0이다

  @points:1
  시나리오: 메인 컨테이너의 로그에 config.txt의 내용이 나온다
    init 컨테이너와 메인 컨테이너가 같은 emptyDir 볼륨을 마운트하고, init 컨테이너가 파일을 그
    볼륨 안(마운트한 경로 아래)에 써야 메인 컨테이너가 읽을 수 있습니다. /tmp처럼 볼륨 밖에
    쓴 파일은 init 컨테이너와 함께 사라집니다.

    그러면 파드 "init-demo"이(가) 60초 안에 Ready가 되어 계속 실행된다
    그리고 파드 "init-demo"의 로그에 곧 "app.marker=kgrade-config-3f9a"이(가) 나온다

  @points:1
  시나리오: 메인 컨테이너는 config.txt에 쓸 수 없다
    root로 도는 컨테이너는 파일 권한을 무시하므로 chmod 444만으로는 막을 수 없습니다. 메인
    컨테이너에서 볼륨을 readOnly: true로 마운트하거나, 메인 컨테이너를 root가 아닌 사용자
    (securityContext.runAsUser)로 돌리면서 chmod로 쓰기 권한을 빼세요.

    그러면 파드 "init-demo"이(가) 60초 안에 Ready가 되어 계속 실행된다
    그리고 파드 "init-demo"은(는) emptyDir 볼륨의 파일 "config.txt"에 쓸 수 없다
