# autotag in a container: `autotag watch` keeps the markers current between your edits.
#   docker build -t autotag .
#   docker run --rm -e IMMICH_URL=... -e IMMICH_API_KEY=... -v autotag-data:/data autotag run --dry-run
# The key comes from the environment only; the mirror lives on the /data volume.
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY immich_mirror ./immich_mirror
COPY autotag ./autotag
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
 && pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt /wheels/immich_mirror-*.whl

FROM python:3.12-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels immich-mirror \
 && rm -rf /wheels \
 && useradd --create-home --uid 10001 autotag \
 && mkdir /data && chown autotag /data
USER autotag
ENV AUTOTAG_DB=/data/mirror.db \
    AUTOTAG_CONFIG=/config/config.yaml \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
ENTRYPOINT ["autotag"]
CMD ["watch", "--interval", "60"]
