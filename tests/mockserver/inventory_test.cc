// A second schema, served and called: inventory.v1.InventoryService (two files, imports rooted at
// proto/) with tests/data/inventory/*.json, called with its generated C++ client. Pins the proto3
// JSON mapping both ways: oneofs, maps, 64-bit integers, Timestamp, Duration, wrappers, bytes and
// enums in the answers, and the same kinds of fields in matching.
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inventory/v1/inventory.grpc.pb.h"
#include "tests/mockserver/serve_process.h"

namespace understudy {
namespace {

namespace inv = ::inventory::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::string Time(const google::protobuf::Timestamp& t) { return TimeUtil::ToString(t); }

void Prepare(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

std::string Value(const std::multimap<grpc::string_ref, grpc::string_ref>& metadata,
                  const std::string& key) {
  auto it = metadata.find(key);
  return it == metadata.end() ? "<absent>" : std::string(it->second.data(), it->second.size());
}

class InventoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The file's own directory is an implicit root; its imports resolve against -I proto.
    server_.Start(
        {"--proto", "proto/inventory/v1/inventory.proto", "-I", "proto", "tests/data/inventory"});
  }
  static void TearDownTestSuite() { server_.Stop(); }
  void SetUp() override {
    ASSERT_TRUE(server_.Ready());
    stub_ = inv::InventoryService::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }

  grpc::Status GetItem(const inv::GetItemRequest& request, inv::Item* item) {
    grpc::ClientContext context;
    Prepare(&context);
    return stub_->GetItem(&context, request, item);
  }
  grpc::Status Search(const inv::SearchItemsRequest& request, inv::SearchItemsResponse* response) {
    grpc::ClientContext context;
    Prepare(&context);
    return stub_->SearchItems(&context, request, response);
  }

  static testing::SharedServe server_;
  std::unique_ptr<inv::InventoryService::Stub> stub_;
};

testing::SharedServe InventoryTest::server_;

// The lamp of get_item.json and search_items.json, field by field.
void ExpectLamp(const inv::Item& item) {
  EXPECT_EQ(item.sku(), "SKU-0001");
  EXPECT_EQ(item.title(), "Brass desk lamp");
  EXPECT_EQ(item.condition(), inv::ITEM_CONDITION_NEW);
  EXPECT_EQ(item.quantity(), 1500);
  EXPECT_EQ(item.total_sold(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(item.stock_delta(), -42);
  EXPECT_EQ(item.barcode(), 4006381333931u);
  EXPECT_EQ(item.price().currency_code(), "EUR");
  EXPECT_EQ(item.price().units(), 49);
  EXPECT_EQ(item.price().nanos(), 990000000);
  EXPECT_THAT(item.attributes(),
              UnorderedElementsAre(Pair("color", "red"), Pair("material", "brass")));
  ASSERT_EQ(item.stock_by_warehouse().size(), 2u);
  const inv::WarehouseStock& ber = item.stock_by_warehouse().at("ber-1");
  EXPECT_EQ(ber.warehouse_id(), "ber-1");
  EXPECT_EQ(ber.on_hand(), 1200);
  EXPECT_EQ(ber.reserved(), 30);
  ASSERT_EQ(ber.bins_size(), 2);
  EXPECT_EQ(ber.bins(0).code(), "A-01");
  EXPECT_EQ(ber.bins(0).count(), 800u);
  EXPECT_EQ(ber.bins(1).code(), "A-02");
  EXPECT_EQ(ber.bins(1).count(), 400u);
  const inv::WarehouseStock& muc = item.stock_by_warehouse().at("muc-2");
  EXPECT_EQ(muc.on_hand(), 300);
  EXPECT_EQ(muc.reserved(), 0);
  EXPECT_THAT(muc.bins(), IsEmpty());
  EXPECT_THAT(item.tags(), ElementsAre("lighting", "outdoor", "sale"));
  EXPECT_THAT(item.bin_numbers(), ElementsAre(3, 14, 15));
  // base64 "iVBORw0KGgoAAAANSUhEUg==": the PNG signature and the IHDR chunk header.
  EXPECT_EQ(item.thumbnail(), std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16));
  EXPECT_EQ(Time(item.updated_at()), "2024-01-15T10:30:00Z");
  EXPECT_EQ(item.restock_lead_time().seconds(), 172800);
  EXPECT_EQ(item.restock_lead_time().nanos(), 0);
  ASSERT_TRUE(item.has_reorder_threshold());
  EXPECT_EQ(item.reorder_threshold().value(), 100);
  ASSERT_TRUE(item.has_supplier_note());
  EXPECT_EQ(item.supplier_note().value(), "ships from Rotterdam");
  ASSERT_EQ(item.source_case(), inv::Item::kSupplier);
  EXPECT_EQ(item.supplier().id(), "sup-17");
  EXPECT_EQ(item.supplier().name(), "Lumen BV");
  EXPECT_EQ(item.supplier().country_code(), "NL");
  EXPECT_DOUBLE_EQ(item.dimensions().length_cm(), 40.5);
  EXPECT_DOUBLE_EQ(item.dimensions().width_cm(), 20);
  EXPECT_DOUBLE_EQ(item.dimensions().height_cm(), 55.25);
  EXPECT_FLOAT_EQ(item.dimensions().weight_kg(), 1.5f);
}

// The stool of get_item.json and search_items.json.
void ExpectStool(const inv::Item& item) {
  EXPECT_EQ(item.sku(), "SKU-0002");
  EXPECT_EQ(item.title(), "Oak stool");
  EXPECT_EQ(item.condition(), inv::ITEM_CONDITION_REFURBISHED);
  EXPECT_EQ(item.quantity(), 12);
  EXPECT_EQ(item.total_sold(), 3u);
  EXPECT_EQ(item.stock_delta(), 0);
  EXPECT_EQ(item.barcode(), 5012345678900u);
  EXPECT_EQ(item.price().units(), 89);
  EXPECT_EQ(item.price().nanos(), 0);
  EXPECT_THAT(item.attributes(),
              UnorderedElementsAre(Pair("color", "natural"), Pair("wood", "oak")));
  EXPECT_TRUE(item.stock_by_warehouse().empty());
  EXPECT_THAT(item.tags(), ElementsAre("furniture"));
  EXPECT_EQ(item.updated_at().nanos(), 500000000);
  EXPECT_EQ(Time(item.updated_at()), "2024-02-29T23:59:59.500Z");
  EXPECT_EQ(item.restock_lead_time().seconds(), 1209600);
  EXPECT_EQ(item.restock_lead_time().nanos(), 500000000);
  // Wrappers set to their default value are still set.
  ASSERT_TRUE(item.has_reorder_threshold());
  EXPECT_EQ(item.reorder_threshold().value(), 0);
  ASSERT_TRUE(item.has_supplier_note());
  EXPECT_EQ(item.supplier_note().value(), "");
  ASSERT_EQ(item.source_case(), inv::Item::kManufacturedBy);
  EXPECT_EQ(item.manufactured_by(), "Workshop Nord");
  EXPECT_FALSE(item.has_dimensions());
}

// ---------------------------------------------------------------------------------------------
// GetItem (unary; oneof key in the request)

TEST_F(InventoryTest, GetItemBySkuAnswersEveryKindOfField) {
  inv::GetItemRequest request;
  request.set_sku("SKU-0001");
  request.set_include_stock(true);
  inv::Item item;
  grpc::Status status = GetItem(request, &item);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectLamp(item);
}

TEST_F(InventoryTest, GetItemBySkuWithoutIncludeStockMatchesNothing) {
  inv::GetItemRequest request;
  request.set_sku("SKU-0001");
  inv::Item item;
  grpc::Status status = GetItem(request, &item);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("inventory.v1.InventoryService/GetItem"));
}

TEST_F(InventoryTest, GetItemByBarcodeAnswersTheOtherOneofMember) {
  grpc::ClientContext context;
  Prepare(&context);
  inv::GetItemRequest request;
  request.set_barcode(5012345678900u);
  inv::Item item;
  grpc::Status status = stub_->GetItem(&context, request, &item);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectStool(item);
  EXPECT_EQ(Value(context.GetServerInitialMetadata(), "x-lookup"), "barcode");
}

TEST_F(InventoryTest, GetDiscontinuedItemRendersTheSku) {
  inv::GetItemRequest request;
  request.set_sku("SKU-9123");
  inv::Item item;
  grpc::Status status = GetItem(request, &item);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "Item SKU-9123 was discontinued");
}

TEST_F(InventoryTest, BarcodeMatchesFixed64GreaterThan) {
  for (uint64_t barcode : {uint64_t{9000000000001}, std::numeric_limits<uint64_t>::max()}) {
    inv::GetItemRequest request;
    request.set_barcode(barcode);
    inv::Item item;
    grpc::Status status = GetItem(request, &item);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << barcode;
    EXPECT_EQ(status.error_message(), "No item with this barcode") << barcode;
  }
  // Not greater: no interaction matches, and the mock says so.
  inv::GetItemRequest request;
  request.set_barcode(9000000000000u);
  inv::Item item;
  grpc::Status status = GetItem(request, &item);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("inventory.v1.InventoryService/GetItem"));
}

// ---------------------------------------------------------------------------------------------
// SearchItems (unary; maps, repeated, int64, wrappers and enums in matching)

inv::SearchItemsRequest RedOutdoorSearch() {
  inv::SearchItemsRequest request;
  request.add_tags("indoor");
  request.add_tags("outdoor");
  (*request.mutable_attributes())["color"] = "red";
  (*request.mutable_attributes())["size"] = "large";  // unlisted keys are ignored
  request.set_min_quantity(101);
  request.set_condition(inv::ITEM_CONDITION_NEW);
  return request;
}

TEST_F(InventoryTest, SearchMatchesOnlyBecauseOfInt64GreaterThan) {
  inv::SearchItemsResponse response;
  grpc::Status status = Search(RedOutdoorSearch(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), 1);
  ExpectLamp(response.items(0));
  EXPECT_EQ(response.total_size(), 1u);
  EXPECT_EQ(response.next_page_token(), "");

  inv::SearchItemsRequest at_bound = RedOutdoorSearch();
  at_bound.set_min_quantity(100);  // "$gt": "100"
  status = Search(at_bound, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("search red outdoor items in stock"));

  inv::SearchItemsRequest large = RedOutdoorSearch();
  large.set_min_quantity(int64_t{1} << 62);
  EXPECT_TRUE(Search(large, &response).ok());
}

TEST_F(InventoryTest, SearchMatchesEnumOneOfAndMapValues) {
  inv::SearchItemsResponse response;
  inv::SearchItemsRequest refurbished = RedOutdoorSearch();
  refurbished.set_condition(inv::ITEM_CONDITION_REFURBISHED);
  EXPECT_TRUE(Search(refurbished, &response).ok());

  inv::SearchItemsRequest used = RedOutdoorSearch();
  used.set_condition(inv::ITEM_CONDITION_USED);
  EXPECT_EQ(Search(used, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  inv::SearchItemsRequest blue = RedOutdoorSearch();
  (*blue.mutable_attributes())["color"] = "blue";
  EXPECT_EQ(Search(blue, &response).error_code(), grpc::StatusCode::NOT_FOUND);

  inv::SearchItemsRequest no_outdoor = RedOutdoorSearch();
  no_outdoor.clear_tags();
  no_outdoor.add_tags("indoor");
  EXPECT_EQ(Search(no_outdoor, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(InventoryTest, SearchMatchesInt32WrapperAndCaseInsensitiveRegex) {
  inv::SearchItemsRequest request;
  request.set_query("Desk LAMPS");
  request.mutable_page_size()->set_value(10);
  inv::SearchItemsResponse response;
  grpc::Status status = Search(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), 1);
  EXPECT_EQ(response.items(0).sku(), "SKU-0001");
  EXPECT_EQ(response.items(0).title(), "Brass desk lamp");
  EXPECT_EQ(response.items(0).quantity(), 0);
  EXPECT_EQ(response.total_size(), 25u);
  EXPECT_EQ(response.next_page_token(), "cGFnZTI=");

  request.mutable_page_size()->set_value(11);
  EXPECT_EQ(Search(request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(InventoryTest, SearchMatchesTagsInAnyOrder) {
  inv::SearchItemsRequest request;
  request.add_tags("oak");
  request.add_tags("furniture");
  request.set_min_quantity(1);
  inv::SearchItemsResponse response;
  grpc::Status status = Search(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.items_size(), 1);
  ExpectStool(response.items(0));

  request.add_tags("pine");  // $unordered wants the same elements
  EXPECT_EQ(Search(request, &response).error_code(), grpc::StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// WatchStock (server streaming; Duration and map in the request)

inv::WatchStockRequest EuWatch() {
  inv::WatchStockRequest request;
  request.add_skus("SKU-0002");
  request.add_skus("SKU-0001");
  (*request.mutable_labels())["region"] = "eu";
  request.mutable_heartbeat_interval()->set_seconds(5);
  return request;
}

TEST_F(InventoryTest, WatchStockStreamsEveryEvent) {
  grpc::ClientContext context;
  Prepare(&context);
  auto reader = stub_->WatchStock(&context, EuWatch());
  std::vector<inv::StockEvent> events;
  inv::StockEvent event;
  while (reader->Read(&event)) events.push_back(event);
  grpc::Status status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].sequence(), 1u);
  EXPECT_EQ(events[0].kind(), inv::StockEvent::KIND_SHIPPED);
  EXPECT_EQ(events[0].sku(), "SKU-0001");
  EXPECT_EQ(events[0].warehouse_id(), "ber-1");
  EXPECT_EQ(events[0].delta(), -2);
  EXPECT_EQ(events[0].quantity_after(), 1498);
  EXPECT_EQ(Time(events[0].occurred_at()), "2024-01-15T10:31:00Z");
  EXPECT_EQ(events[1].sequence(), 2u);
  EXPECT_EQ(events[1].kind(), inv::StockEvent::KIND_RECEIVED);
  EXPECT_EQ(events[1].delta(), 10);
  EXPECT_EQ(events[1].quantity_after(), 22);
  EXPECT_EQ(events[1].occurred_at().nanos(), 250000000);
  EXPECT_EQ(events[2].sequence(), 3u);
  EXPECT_EQ(events[2].kind(), inv::StockEvent::KIND_HEARTBEAT);
  EXPECT_EQ(events[2].sku(), "");
  EXPECT_EQ(events[2].delta(), 0);
}

TEST_F(InventoryTest, WatchStockMatchesDurationExactly) {
  inv::WatchStockRequest request = EuWatch();
  request.mutable_heartbeat_interval()->set_seconds(6);
  grpc::ClientContext context;
  Prepare(&context);
  auto reader = stub_->WatchStock(&context, request);
  inv::StockEvent event;
  EXPECT_FALSE(reader->Read(&event));
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(InventoryTest, WatchStockWithLargeMinChangeEndsWithoutMessages) {
  grpc::ClientContext context;
  Prepare(&context);
  inv::WatchStockRequest request;
  request.set_min_change(1000);
  auto reader = stub_->WatchStock(&context, request);
  inv::StockEvent event;
  EXPECT_FALSE(reader->Read(&event));
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "min_change must be below 1000");
}

// ---------------------------------------------------------------------------------------------
// AdjustStock (client streaming; oneof, sint64, wrapper and bytes in the messages)

inv::StockAdjustment Shipment() {
  inv::StockAdjustment adjustment;
  adjustment.set_sku("SKU-0001");
  adjustment.set_warehouse_id("ber-1");
  adjustment.set_delta(-2);
  adjustment.mutable_order()->set_order_id("ord-1001");
  adjustment.mutable_order()->set_line(1);
  return adjustment;
}

inv::StockAdjustment Recount(int64_t delta) {
  inv::StockAdjustment adjustment;
  adjustment.set_sku("SKU-0001");
  adjustment.set_warehouse_id("muc-2");
  adjustment.set_delta(delta);
  adjustment.set_note("annual recount");
  adjustment.mutable_operator_()->set_value("alice");
  adjustment.set_signature(std::string("\x00\x01\xfe\xff", 4));
  return adjustment;
}

grpc::Status Adjust(inv::InventoryService::Stub* stub,
                    const std::vector<inv::StockAdjustment>& adjustments,
                    inv::AdjustStockSummary* summary) {
  grpc::ClientContext context;
  Prepare(&context);
  auto writer = stub->AdjustStock(&context, summary);
  for (const auto& adjustment : adjustments) {
    if (!writer->Write(adjustment)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

TEST_F(InventoryTest, AdjustStockSummarisesTwoAdjustments) {
  inv::AdjustStockSummary summary;
  grpc::Status status = Adjust(stub_.get(), {Shipment(), Recount(17)}, &summary);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(summary.adjustments_applied(), 2u);
  EXPECT_EQ(summary.net_change(), 15);
  EXPECT_THAT(summary.net_change_by_sku(), UnorderedElementsAre(Pair("SKU-0001", 15)));
  EXPECT_EQ(Time(summary.committed_at()), "2024-01-15T10:40:00Z");
}

TEST_F(InventoryTest, AdjustStockSecondMessageMustAddUnitsAndNameAnOperator) {
  inv::AdjustStockSummary summary;
  EXPECT_EQ(Adjust(stub_.get(), {Shipment(), Recount(0)}, &summary).error_code(),
            grpc::StatusCode::NOT_FOUND);  // "delta": {"$gt": 0}
  inv::StockAdjustment anonymous = Recount(17);
  anonymous.clear_operator_();
  EXPECT_EQ(Adjust(stub_.get(), {Shipment(), anonymous}, &summary).error_code(),
            grpc::StatusCode::NOT_FOUND);  // "operator": "alice"
  inv::StockAdjustment by_order = Recount(17);
  by_order.mutable_order()->set_order_id("ord-1");  // the oneof now holds order, not note
  EXPECT_EQ(Adjust(stub_.get(), {Shipment(), by_order}, &summary).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(InventoryTest, AdjustmentWithoutReasonIsRejected) {
  inv::StockAdjustment adjustment;
  adjustment.set_sku("SKU-0001");
  adjustment.set_delta(3);
  inv::AdjustStockSummary summary;
  grpc::Status status = Adjust(stub_.get(), {adjustment}, &summary);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "every adjustment needs an order or a note");

  adjustment.set_note("found in the back");
  EXPECT_EQ(Adjust(stub_.get(), {adjustment}, &summary).error_code(), grpc::StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------------------------------------
// SyncInventory (bidirectional; metadata, oneof, maps of messages, fixed64 above int64)

inv::SyncRequest Upsert(int64_t on_hand) {
  inv::SyncRequest request;
  inv::Item* item = request.mutable_upsert();
  item->set_sku("SKU-0003");
  item->set_title("Blue vase");
  item->set_quantity(7);
  (*item->mutable_attributes())["color"] = "blue";
  (*item->mutable_stock_by_warehouse())["ber-1"].set_on_hand(on_hand);
  return request;
}

inv::SyncRequest Delete(const std::string& sku) {
  inv::SyncRequest request;
  request.set_delete_sku(sku);
  return request;
}

inv::SyncRequest Checkpoint(uint64_t token) {
  inv::SyncRequest request;
  request.mutable_checkpoint()->set_token(token);
  *request.mutable_checkpoint()->mutable_taken_at() = TimeUtil::GetCurrentTime();
  return request;
}

TEST_F(InventoryTest, SyncInventoryAcknowledgesEachChange) {
  grpc::ClientContext context;
  Prepare(&context);
  context.AddMetadata("x-replica", "replica-3");
  auto stream = stub_->SyncInventory(&context);
  inv::SyncResponse response;

  ASSERT_TRUE(stream->Write(Upsert(4)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sequence(), 1u);
  EXPECT_EQ(response.result(), inv::SyncResponse::RESULT_ACCEPTED);
  EXPECT_EQ(response.sku(), "SKU-0003");
  EXPECT_FALSE(response.has_error());

  ASSERT_TRUE(stream->Write(Delete("SKU-0004")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sequence(), 2u);
  EXPECT_EQ(response.result(), inv::SyncResponse::RESULT_REJECTED);
  ASSERT_TRUE(response.has_error());
  EXPECT_EQ(response.error().value(), "SKU-0004 has open orders");

  ASSERT_TRUE(stream->Write(Checkpoint(18000000000000000000u)));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.sequence(), 3u);
  EXPECT_EQ(response.result(), inv::SyncResponse::RESULT_ACCEPTED);
  EXPECT_EQ(response.checkpoint_token(), 18000000000000000000u);

  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Value(context.GetServerTrailingMetadata(), "x-synced"), "3");
}

TEST_F(InventoryTest, SyncCheckpointTokenIsComparedWithFull64BitPrecision) {
  grpc::ClientContext context;
  Prepare(&context);
  context.AddMetadata("x-replica", "replica-3");
  auto stream = stub_->SyncInventory(&context);
  inv::SyncResponse response;
  ASSERT_TRUE(stream->Write(Upsert(4)));
  ASSERT_TRUE(stream->Read(&response));
  ASSERT_TRUE(stream->Write(Delete("SKU-0004")));
  ASSERT_TRUE(stream->Read(&response));
  // One more than the contract's token: equal as doubles, different as integers.
  stream->Write(Checkpoint(18000000000000000001u));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("sync one upsert, one delete and a checkpoint"));
}

TEST_F(InventoryTest, SyncFirstMessageMustMatchNestedMapValues) {
  grpc::ClientContext context;
  Prepare(&context);
  context.AddMetadata("x-replica", "replica-3");
  auto stream = stub_->SyncInventory(&context);
  inv::SyncResponse response;
  stream->Write(Upsert(0));  // "onHand": {"$gt": 0}
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(InventoryTest, SyncWithoutReplicaHeaderIsNotFound) {
  grpc::ClientContext context;
  Prepare(&context);
  auto stream = stub_->SyncInventory(&context);
  inv::SyncResponse response;
  stream->Write(Upsert(4));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("x-replica"));
}

}  // namespace
}  // namespace understudy
