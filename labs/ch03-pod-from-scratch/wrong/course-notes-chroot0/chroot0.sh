#/bin/bash
# chroot0.sh as the course notes print it (section 3.4.1), with one line added
# so that /home/namespace exists. The typo "namepspace" leaves box/lib64 empty,
# so the loader /lib64/ld-linux-x86-64.so.2 is missing; there is no box/proc;
# and "mount -bind" is not an option of mount.
mkdir -p /home/namespace
mkdir /home/namespace/box

mkdir /home/namespace/box/bin
mkdir /home/namespace/box/lib
mkdir /home/namespace/box/lib64

cp -v /usr/bin/kill /home/namespace/box/bin/
cp -v /usr/bin/ps /home/namespace/box/bin
cp -v /bin/bash /home/namespace/box/bin
cp -v /bin/ls /home/namespace/box/bin

cp -r /lib/* /home/namespace/box/lib/
cp -r /lib64/* /home/namepspace/box/lib64/

mount -t proc proc /home/namespace/box/proc

mount -bind /tmp/ /home/namespace/box/data

chroot /home/namespace/box /bin/bash
