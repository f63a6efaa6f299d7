# language: ko
기능: busybox로 짧은 Job 돌리기

  @points:1
  시나리오: busybox-job이 60초 안에 성공으로 끝난다
    Job의 스크립트는 종료 코드 0으로 끝나야 성공입니다. 마지막 명령이 실패하면(exit 1, false,
    없는 파일을 cat 등) Job은 파드를 다시 만들며 재시도할 뿐 완료되지 않습니다.
    kubectl get job busybox-job 과 kubectl logs job/busybox-job 으로 확인하세요.

    만일 제출물의 "job.yaml"을(를) 적용한다
    그러면 잡 "busybox-job"이(가) 60초 안에 완료된다
