Feature: configuration from a ConfigMap and a Secret; data that outlives its pod

  @points:3
  Scenario: env-demo takes its values from the ConfigMap and the Secret
    env-pod.yaml must take SPRING_PROFILES_ACTIVE from key profile of ConfigMap
    app-config and DB_PASSWORD from key password of Secret app-secret
    (env[].valueFrom.configMapKeyRef / secretKeyRef, or envFrom), and print its
    environment (env). Values copied into the manifest do not follow the
    ConfigMap or the Secret when they change.

    Given the lab's fixtures are running
    And ConfigMap "app-config" key "profile" is set to a fresh value
    And Secret "app-secret" key "password" is set to a fresh value
    When the submission's "env-pod.yaml" is applied
    Then pod "env-demo" takes env "SPRING_PROFILES_ACTIVE" from key "profile" of ConfigMap "app-config"
    And pod "env-demo" takes env "DB_PASSWORD" from key "password" of Secret "app-secret"
    And pod "env-demo" has started within 120 seconds
    And the log of pod "env-demo" eventually shows "SPRING_PROFILES_ACTIVE" set to "{{app-config.profile}}"
    And the log of pod "env-demo" eventually shows "DB_PASSWORD" set to "{{app-secret.password}}"

  @points:2
  Scenario: a file written to /data survives the pod's deletion and recreation
    pvc-pod.yaml must hold PersistentVolumeClaim data (leave storageClassName
    out: the cluster's default class provisions it) and Pod writer, which
    mounts that claim at /data. An emptyDir is deleted with its pod.

    When the submission's "pvc-pod.yaml" is applied
    Then pod "writer" is Running within 120 seconds
    And pod "writer" mounts PersistentVolumeClaim "data" at "/data"
    And PersistentVolumeClaim "data" is Bound on the cluster's default StorageClass
    When pod "writer" writes a fresh marker into "/data/kgrade-marker"
    And pod "writer" is deleted and created again from the submission's "pvc-pod.yaml"
    Then pod "writer" is Running within 120 seconds
    When pod "writer" runs "cat /data/kgrade-marker"
    Then it succeeds
    And its output is "{{marker}}"
